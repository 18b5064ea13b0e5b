"""A pipeline's spec: the YAML schema (`pipeline_spec`), the rules across its sections (`rules`),
how its mistakes are reported (`errors`), and a spec written from a user's data file (`from_data`)."""
