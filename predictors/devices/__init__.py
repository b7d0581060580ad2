"""Device profiles: the shipped ``*.yaml`` beside this file, their loading and validation, and MCU
cost fits from ``nasx profile``.
"""
