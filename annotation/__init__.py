"""The Label Studio adapter: labeling configs, push, pull, merge and review metrics."""
