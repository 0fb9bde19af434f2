"""The execution engine, free of Ray and of task knowledge: chunks of input sets through stages
(``chunks``) and the folder locks that keep two runs from writing one cache (``locks``)."""
