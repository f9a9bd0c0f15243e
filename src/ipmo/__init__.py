"""ipmo: Integrated Pharmacy and Medicines Optimisation for an NHS Integrated Care System."""

__version__ = "0.1.0"
