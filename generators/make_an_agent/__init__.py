"""Make-An-Agent: parameter autoencoder, behaviour embedding, latent diffusion (see model.py)."""
