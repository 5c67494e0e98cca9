"""Operations: one writer per warehouse, the key's fingerprint, history, backups and retention."""
