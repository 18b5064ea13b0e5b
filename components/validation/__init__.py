"""Data validation that gates training: schema anomalies, drift between spans, skew against serving.

TFX 1.16's ExampleValidator records anomalies and lets the run go on; here the validator of every
pipeline fails the run before Transform when it finds any anomaly the spec does not mark as a
warning, so no model is trained or pushed on bad data.
"""
