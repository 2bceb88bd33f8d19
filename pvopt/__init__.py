"""pvopt: a photovoltaic surplus router for French Linky meters."""

__version__ = "0.1.0"
