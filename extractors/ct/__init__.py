"""CT to chest X-ray anatomy (PAXRay, DOMAIN.md section 2): volumes in one canonical
orientation, organ masks mapped to a chest X-ray anatomy taxonomy, and frontal / lateral
digitally reconstructed radiographs that project the masks with the same geometry.

Pure functions on arrays: volumes and masks are read by ``extractors.volume`` (the CT
source's mask rule is ``sources.ct.masks``); nothing here imports Prefect or touches the
network."""

EXTRACTOR = "extractors.ct"
VERSION = "1"
