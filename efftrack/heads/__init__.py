"""Proposal and embedding heads on the side network's features, and their training targets."""
from efftrack.heads.assign import atss_assign, level_points
from efftrack.heads.embedding import EmbeddingHead, EmbeddingInputError
from efftrack.heads.embedding_targets import RoiSamplingError, sample_rois
from efftrack.heads.proposal import ProposalHead, ProposalInputError

__all__ = ["ProposalHead", "ProposalInputError", "EmbeddingHead", "EmbeddingInputError", "sample_rois",
           "RoiSamplingError", "atss_assign", "level_points"]
