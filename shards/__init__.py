"""Publishing: WebDataset shards, the dataset card, the manifest and load checks."""
