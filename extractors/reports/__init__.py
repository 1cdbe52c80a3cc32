"""Report NLP: finding mentions with anatomy, laterality, negation and uncertainty
(``extract_findings``), on spaCy's blank English pipeline with rules only."""

from extractors.reports.extract import EXTRACTOR, FindingMention, extract_findings, scrub
from extractors.reports.lexicon import LEXICON_VERSION

__all__ = ["EXTRACTOR", "LEXICON_VERSION", "FindingMention", "extract_findings", "scrub"]
