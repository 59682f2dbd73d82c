"""repairtext: two-way SMS and MMS for a repair shop's ticket desk."""

__version__ = "0.1.0"
