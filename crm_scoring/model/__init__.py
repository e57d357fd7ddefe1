"""The learned churn model: features in, calibrated probabilities and drivers out. Pure: no SQL,
no Dagster, no I/O (the warehouse reads frames and stores models, the assets wire them).

- split: which labelled days train and which validate, with a horizon's gap between them
- estimators: LightGBM, the logistic baseline and the isotonic calibration, each serialised as
  text/JSON (never pickle) and predicting the same probabilities after a round trip
- metrics: AUC, PR-AUC, Brier, top-decile lift, recall at an alert budget and calibration error,
  each with a 95% bootstrap interval over customers
- drivers: per customer, the three features that pushed the probability up most, in words
- training: per tenant, pooled or no model (and why), trained, calibrated and judged
"""
