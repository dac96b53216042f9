"""The compliance log, exports, decision trails and audit packs (no models: it reads the others)."""
