"""Pharmacy First: the seven clinical pathways as versioned data, the pharmacist's consultation
(for referrals and walk-ins), urgent medicine supply, the Update Record back to the GP practice,
and claim readiness.

Other domains use what ``hooks.py`` offers (consultation rows and figures); nothing else here is
published.
"""
