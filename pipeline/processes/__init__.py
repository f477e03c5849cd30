"""The sales-process editor (`/processes/`): the pages over `stages.services`."""
