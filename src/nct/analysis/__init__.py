"""Analyses of why compressed text is (or is not) learnable (TLNCT §6)."""
