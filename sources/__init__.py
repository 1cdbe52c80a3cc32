"""Dataset readers: one module per public dataset, each turning files on disk into a plan of
input items (``sources.base``) that the read stage decodes into Study rows and Findings."""
