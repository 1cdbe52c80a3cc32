"""sources/radiograph"""
