"""The supervision office's work: urges and orders with their rules, efficiency statistics and their
daily rollup, faults and accountability, and the publication of reports.
May import every other domain package except ``tenders`` (which it supervises through faults)."""
