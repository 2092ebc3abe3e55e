/** 3D foundations: SDFs and captioned scenes, point clouds, marching cubes, meshes, rendering, files, metrics. */

export * from './dataset.ts';
export * from './files.ts';
export * from './marching-cubes.ts';
export * from './mesh.ts';
export * from './metrics.ts';
export * from './pointcloud.ts';
export * from './render.ts';
export * from './scenes.ts';
export * from './sdf.ts';
