"""The pure domain: standard library only, time always an argument."""
