"""provisioner: schema-as-code for the custom-data API (Flows) of Elastic Path Commerce Cloud."""

__version__ = "0.1.0"
