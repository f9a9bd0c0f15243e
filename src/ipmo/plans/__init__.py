"""The ICS medicines plan: objectives with owners, dates and metrics tied to live data, PDSA
cycles, stakeholders, and the printable "plan on a page"."""
