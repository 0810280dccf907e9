"""Workers: background loops and the validation runner; leaders elected through store.locks."""
