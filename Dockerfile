# Images for docker-compose.yml: `web` (Next.js server) and `worker` (ONNX Runtime with CUDA 12 + cuDNN 9).
# Build: docker compose build   (needs network: npm registry, apt, and NuGet for the CUDA provider)

FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY lib/config.ts ./lib/config.ts
COPY lib/engine/providers.ts ./lib/engine/providers.ts
COPY lib/schemas/job-vocabulary.ts ./lib/schemas/job-vocabulary.ts
COPY lib/webhooks/url.ts ./lib/webhooks/url.ts
RUN npm ci

FROM deps AS build
COPY . .
RUN NEXT_TELEMETRY_DISABLED=1 npx next build

FROM node:20-bookworm-slim AS web
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1
COPY --from=build /app /app
EXPOSE 3000
CMD ["sh", "-c", "npm run db:migrate && exec node node_modules/next/dist/bin/next start -H ${HOST:-0.0.0.0} -p ${PORT:-3000}"]

# The worker runs on NVIDIA's CUDA runtime image with Node.js copied in from the official image.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS worker
# libvulkan1: the Vulkan loader WebGPU reaches the card through (NVIDIA's ICD comes with the container toolkit).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates libvulkan1 && rm -rf /var/lib/apt/lists/*
COPY --from=node:20-bookworm-slim /usr/local /usr/local
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
# onnxruntime-node's CUDA provider is fetched here (npm ci above skipped its install script: allowScripts).
RUN npm run gpu:install
CMD ["npm", "run", "worker"]
