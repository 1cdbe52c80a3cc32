"""sources/pet"""
