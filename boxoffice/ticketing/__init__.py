"""Ticket codes, signing keys, signed QR payloads, QR images and ticket PDFs.

Pure library code: no database, web framework or Temporal. Import the submodules directly
(``boxoffice.ticketing.tokens`` …); this package deliberately imports nothing so that, for example,
verifying a payload never loads WeasyPrint.
"""
