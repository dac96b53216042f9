"""Reviews, stages, decisions, comments, SLAs and the reviewer's inbox."""
