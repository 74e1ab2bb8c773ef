"""A stand-in for pycuda (tests only): pycuda.driver on host memory (fake_trt/pycuda/driver.py)."""
