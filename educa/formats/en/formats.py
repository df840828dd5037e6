# Django's English DATE_FORMAT abbreviates the month ("Dec. 5, 2026"); a certificate and the
# catalogue print it in full. Only the formats named here replace Django's.
DATE_FORMAT = "F j, Y"
