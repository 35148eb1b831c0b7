"""What the files source keeps in the warehouse: how far it has read each file.

raw.source_files holds, per file it read and stored, the file's length and the SHA-256 of
its bytes at that moment. The next read of an unchanged file is skipped, and a file that
only grew (new lines appended) is read from where it ended: the recorded digest is checked
against the file's first bytes, so any change deeper in it (a revised row, a rewrite) makes
the whole file be read again. It is written in the transaction that stores the rows, so a
failed load leaves it as it was.
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS raw.source_files (
        path    VARCHAR   PRIMARY KEY,
        bytes   BIGINT    NOT NULL,
        sha256  VARCHAR   NOT NULL,
        read_at TIMESTAMP NOT NULL
    )
    """,
]
