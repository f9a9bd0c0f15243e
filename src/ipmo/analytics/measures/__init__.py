"""Measure definitions: OpenPrescribing's JSON format (``definitions``), ICS YAML measures, and
ipmo's own (AWaRe, biosimilars, inhalers) with the few dm+d facts they need. Uses ``ingest``."""
