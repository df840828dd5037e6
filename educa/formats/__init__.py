"""Date formats that differ from Django's own for a language (FORMAT_MODULE_PATH).

Languages without a module here keep Django's formats (Spanish: "5 de diciembre de 2026").
"""
