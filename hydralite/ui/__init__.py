"""The example login/consent/logout app (`hydralite serve ui`)."""
