"""Amplification DSP (issue #3): audiogram, prescription, filterbank, WDRC, MPO limiter, calibration, chain.

Pure numpy/scipy. Maths lives in pure functions; stream stages follow the
:mod:`hearing_assist.pipeline.processor` life cycle (prepare / process / reset).
"""
