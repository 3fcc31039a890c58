"""Real Korean text from ../shared/corpora: reading rows by reference, the hand-labelled dev set, and
the corpus-based training rows (benign negatives, carriers, long passages). The repository keeps only
references (file and line) and labels, never copies of the corpora."""
