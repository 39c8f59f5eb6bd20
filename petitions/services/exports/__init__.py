"""Exports of a letter's signatory list: CSV and XLSX for organisers' own work, and the delivery
PDF handed to the addressees, with the digest that lets anyone check it later."""
