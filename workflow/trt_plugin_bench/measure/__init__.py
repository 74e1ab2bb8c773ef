"""Measuring: the one loop (skip, time, verify, sample, summarise), its rows and raw samples, the direct kernel path and the native thread runner."""
