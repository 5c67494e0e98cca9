"""What leaves the warehouse as files: exports for BI tools, and disclosure-controlled feeds."""
