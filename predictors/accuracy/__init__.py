"""The accuracy predictor (``nasx predictor fit``): per-gene and whole-arch features, ridge / MLP
ensemble / extra-trees models chosen by cross-validation, the resumable sharded dataset of
evaluated subnets and its stamp, rank metrics and the validation split's reliability.
"""
