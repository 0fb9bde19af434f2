"""Task generators over scene graphs: VQAv2 questions, SNLI-VE pairs, VCR questions."""
