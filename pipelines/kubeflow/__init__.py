"""Kubeflow Pipelines: compile a spec (`compiler`), read a compiled job (`compiled`), submit it to a
KFP server (`submit`), and run it on this machine as a cluster would (`local_runner`, with
`ledger` standing in for the cluster's ML Metadata)."""
