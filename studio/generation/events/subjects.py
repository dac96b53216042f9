"""Subject kinds of the studio's audit events (part of the hash chain: never change)."""

DRAFT = "studio.promptdraft"
JOB = "studio.generationjob"
VARIANT = "studio.variant"
DEPLOYMENT = "studio.deployment"
WORKSPACE = "studio.workspace"
