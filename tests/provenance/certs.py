"""Throwaway certificate chains for the tests: the builder the demo seeding uses too
(``studio.provenance.demo``), whose options make the broken certificates the tests need."""

from studio.provenance.demo import (
    C2PA_CLAIM_SIGNING,
    DOCUMENT_SIGNING,
    EMAIL_PROTECTION,
    SERVER_AUTH,
    ThrowawayChain,
    make_chain,
)

__all__ = ["C2PA_CLAIM_SIGNING", "DOCUMENT_SIGNING", "EMAIL_PROTECTION", "SERVER_AUTH", "ThrowawayChain", "make_chain"]
