"""Record builders: Studies and Findings in, typed grounding / CoT / sequence records out."""
