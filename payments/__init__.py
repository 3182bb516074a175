"""The PCI scope: everything that touches money or card data lives here and nowhere else."""
