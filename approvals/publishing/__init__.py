"""Publications: renditions of approved variants at exact channel sizes, written to storage."""
