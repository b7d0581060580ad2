"""Hardware cost models and accuracy / latency predictors (imported as ``nasx.predictors``).

Nothing is exported yet: device profiles, the analytic cost model and the predictors will live
here.
"""
