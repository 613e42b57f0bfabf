"""Cryptography: token HMACs, secret hashing, sealing at rest, JOSE keys."""
