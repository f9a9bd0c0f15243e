"""Data in: prescribing (EPD, OpenPrescribing CSV), list sizes and organisations into the
analytics Parquet store (``datastore``), and how each engine sees it. The lowest layer."""
